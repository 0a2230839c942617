with day as (
  select as_at as d from list_dates
  where list_date(:as_at) between as_at and in_force_until
),
-- count per owner straight from an index on (as_at, owner, ...), then
-- one lookup of each owner's name
by_owner as (
  select owner, count(*) as homes, sum(places) as places,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'outstanding')) as outstanding,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'good')) as good,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'requires_improvement')) as requires_improvement,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'inadequate')) as inadequate,
    sum(latest_judgement is null) as not_yet_judged,
    sum(latest_judgement is not null) as judged
  from home_snapshots where as_at = (select d from day) group by owner
),
totals as (select sum(homes) as homes, sum(places) as places from by_owner)
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
from by_owner b
join owners o on o.id = b.owner
where b.homes >= cast(coalesce(nullif(:min_homes, ''), '1') as integer)
order by b.homes desc, b.places desc, owner
