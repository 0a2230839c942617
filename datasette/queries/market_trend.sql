-- one pass over the lists (an index holds these columns), then the
-- breakdowns from its few thousand rows
with cells as (
  select as_at, sector, region, count(*) as homes, sum(places) as places,
    sum(region_is_derived = 1) as worked_out
  from home_snapshots group by as_at, sector, region
),
lists as (
  select as_at, sum(homes) as homes, sum(places) as places
  from cells group by as_at
),
grouped as (
  select as_at, 'sector' as breakdown, coalesce(sector, 'Unknown') as name,
    sum(homes) as homes, sum(places) as places, null as homes_region_worked_out
  from cells group by as_at, 3
  union all
  select as_at, 'region', coalesce(region, 'Unknown'),
    sum(homes), sum(places), sum(worked_out)
  from cells group by as_at, 3
)
select
  g.as_at, g.breakdown, g.name, g.homes, g.places,
  round(100.0 * g.homes / l.homes, 1) as share_of_homes,
  round(100.0 * g.places / l.places, 1) as share_of_places,
  l.homes as all_homes, l.places as all_places,
  g.homes_region_worked_out
from grouped g join lists l on l.as_at = g.as_at
where trim(coalesce(:breakdown, '')) = '' or g.breakdown = lower(trim(:breakdown))
order by g.breakdown desc, g.as_at, g.homes desc, g.name
