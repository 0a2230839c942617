with params as (
  select cast(coalesce(nullif(:year, ''), (select max(year) from la_missing_stats)) as integer) as y
),
snap as (
  select as_at, la_code, places, is_independent, latest_judgement from home_snapshots
  where as_at = (select as_at from list_dates
                 where (select y from params) || '-03-31' between as_at and in_force_until)
),
area as (
  select la_code, count(*) as homes, sum(places) as places,
    round(100.0 * sum(is_independent = 1) / count(*), 1) as independent_share,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'outstanding')) as outstanding,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'good')) as good,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'requires_improvement')) as requires_improvement,
    sum(latest_judgement in (select judgement from judgement_scale where grade = 'inadequate')) as inadequate,
    sum(latest_judgement is null) as not_yet_judged
  from snap group by la_code
),
dfe as (
  select la_code, year,
    max(case when measure = 'missing_incidents' then value end) as incidents,
    max(case when measure = 'missing_incidents' then symbol end) as incidents_symbol,
    max(case when measure = 'children_missing' then value end) as children,
    max(case when measure = 'children_missing' then symbol end) as children_symbol,
    max(case when measure = 'children_looked_after' then value end) as looked_after,
    max(release) as release
  from la_missing_stats_latest
  where geographic_level = 'Local authority'
    and year in ((select y from params), (select y from params) - 1)
  group by la_code, year
)
select
  la.la_code,
  la.name as local_authority,
  la.region,
  coalesce(a.homes, 0) as homes,
  case when (select sum(places) from snap) is null then null
    else coalesce(a.places, 0) end as places,
  a.independent_share,
  coalesce(a.outstanding, 0) as outstanding,
  coalesce(a.good, 0) as good,
  coalesce(a.requires_improvement, 0) as requires_improvement,
  coalesce(a.inadequate, 0) as inadequate,
  coalesce(a.not_yet_judged, 0) as not_yet_judged,
  cast(cur.incidents as integer) as missing_incidents,
  cur.incidents_symbol as missing_incidents_symbol,
  cast(cur.children as integer) as children_missing,
  cur.children_symbol as children_missing_symbol,
  cast(cur.looked_after as integer) as children_looked_after,
  round(100.0 * cur.children / cur.looked_after, 1) as children_missing_per_100_looked_after,
  round(100.0 * cur.incidents / cur.looked_after, 1) as incidents_per_100_looked_after,
  cast(cur.incidents - prev.incidents as integer) as incidents_change_on_previous_year,
  (select y from params) as year,
  cur.release,
  (select max(as_at) from snap) as snapshot_as_at
from local_authorities la
left join area a on a.la_code = la.la_code
left join dfe cur on cur.la_code = la.la_code and cur.year = (select y from params)
left join dfe prev on prev.la_code = la.la_code and prev.year = (select y from params) - 1
where (la.valid_from is null or la.valid_from <= (select y from params) || '-03-31')
  and (la.valid_to is null or la.valid_to >= (select y from params) || '-03-31')
order by la.name
