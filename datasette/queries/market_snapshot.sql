with snap as (
  select as_at, sector, places from home_snapshots
  where as_at = (select as_at from list_dates
                 where list_date(:as_at) between as_at and in_force_until)
)
select
  coalesce(sector, 'Unknown') as sector,
  count(*) as homes,
  sum(places) as places,
  round(100.0 * count(*) / (select count(*) from snap), 1) as share_of_homes,
  round(100.0 * sum(places) / (select sum(places) from snap), 1) as share_of_places,
  (select max(as_at) from snap) as snapshot_as_at
from snap
group by 1
order by homes desc, sector
