with snap as (
  select as_at, region, places, is_independent, region_is_derived from home_snapshots
  where as_at = (select as_at from list_dates
                 where list_date(:as_at) between as_at and in_force_until)
)
select
  coalesce(region, 'Unknown') as region,
  count(*) as homes,
  sum(places) as places,
  round(100.0 * count(*) / (select count(*) from snap), 1) as share_of_homes,
  round(100.0 * sum(is_independent = 1) / count(*), 1) as independent_share,
  sum(region_is_derived = 1) as homes_region_worked_out,
  (select max(as_at) from snap) as snapshot_as_at
from snap
group by 1
order by homes desc, region
