with wanted as (select list_date(:as_at) as w),
day as (
  -- the date of the list that answers (else the date asked for)
  select coalesce(
    (select as_at from list_dates where (select w from wanted) between as_at and in_force_until),
    (select w from wanted)) as d
),
snap as (
  select as_at, urn, owner, la_code, sector, places from home_snapshots
  where as_at = (select d from day)
),
run_by as (
  select distinct s.urn, c.la_code from snap s join owner_councils c on c.owner = s.owner
  union
  select s.urn, s.la_code from snap s
  where s.sector = 'Local Authority'
    and not exists (select 1 from owner_councils c where c.owner = s.owner)
),
-- each count once per local authority (grouped), not a pass over the list per authority
run_counts as (
  select la_code, count(*) as homes from run_by group by la_code
),
area_counts as (
  select la_code, count(*) as homes, sum(sector = 'Local Authority') as council_sector,
    sum(places) as places
  from snap group by la_code
),
counted as (
  select
    la.la_code,
    la.name as local_authority,
    la.region,
    coalesce(rc.homes, 0) as homes_run_by_council,
    coalesce(ac.council_sector, 0) as council_sector_homes_in_area,
    coalesce(ac.homes, 0) as homes_in_area,
    ac.places as places_in_area
  from local_authorities la
  left join run_counts rc on rc.la_code = la.la_code
  left join area_counts ac on ac.la_code = la.la_code
  where (la.valid_from is null or la.valid_from <= (select d from day))
    and (la.valid_to is null or la.valid_to >= (select d from day))
)
select
  la_code, local_authority, region,
  homes_run_by_council,
  homes_run_by_council = 0 as runs_no_home,
  council_sector_homes_in_area,
  council_sector_homes_in_area = 0 as no_council_home_in_area,
  homes_in_area,
  case when places_in_area is null and homes_in_area = 0 then 0 else places_in_area end as places_in_area,
  (select max(as_at) from snap) as snapshot_as_at
from counted
where homes_run_by_council = 0 or council_sector_homes_in_area = 0
order by runs_no_home desc, region, local_authority
