with day as (
  select as_at as d from list_dates
  where list_date(:as_at) between as_at and in_force_until
),
-- each owner's homes, places and judgements on that list, as the registry
-- counts them when it loads (owner_snapshots); shares are of every home on
-- the list, whether or not the list names its owner
totals as (
  select count(*) as homes, sum(places) as places
  from home_snapshots where as_at = (select d from day)
)
select
  o.id as owner_id,
  o.name as owner,
  b.homes,
  b.places,
  round(100.0 * b.homes / (select homes from totals), 2) as share_of_homes,
  round(100.0 * b.places / (select places from totals), 2) as share_of_places,
  b.outstanding, b.good, b.requires_improvement, b.inadequate, b.not_yet_judged,
  round(100.0 * (b.requires_improvement + b.inadequate) / nullif(b.judged, 0), 1) as below_good_share,
  (select d from day) as snapshot_as_at
from owner_snapshots b
join owners o on o.id = b.owner
where b.as_at = (select d from day)
  and b.homes >= cast(coalesce(nullif(:min_homes, ''), '1') as integer)
order by b.homes desc, b.places desc, owner
