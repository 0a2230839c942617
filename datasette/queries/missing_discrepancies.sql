with police as (
  select p.year, p.year_ending, p.police_force,
    max(p.force_as_published) as force_as_published,
    max(p.footnotes) as footnotes,
    max(case when p.measure = 'care_incidents' then p.value end) as police_care_incidents,
    max(case when p.measure = 'care_incidents' then p.symbol end) as police_care_incidents_symbol,
    max(case when p.measure = 'care_individuals' then p.value end) as police_care_individuals,
    max(case when p.measure = 'care_individuals' then p.symbol end) as police_care_individuals_symbol,
    max(p.source_id) as police_source_id
  from police_missing_stats p
  where p.source_id = (
    select q.source_id from police_missing_stats q
    join sources s on s.sha256 = q.source_id
    where q.year = p.year
    order by s.loaded_at desc, q.source_id limit 1)
  group by p.year, p.police_force
),
dfe as (
  select a.police_force, s.year,
    sum(s.value) as dfe_missing_incidents,
    count(s.value) as las_with_figure,
    group_concat(case when s.value is null
      then s.la_name || ' (' || coalesce(s.symbol, 'blank') || ')' end, ', ') as las_without_figure
  from la_missing_stats_latest s
  join police_force_areas a on a.la_code = s.la_code
  where s.geographic_level = 'Local authority'
    and s.measure in ('missing_incidents', 'Number of missing incidents during the year')
  group by a.police_force, s.year
)
select
  p.year,
  p.police_force,
  p.force_as_published,
  p.footnotes,
  cast(p.police_care_incidents as integer) as police_care_incidents,
  p.police_care_incidents_symbol,
  cast(p.police_care_individuals as integer) as police_care_individuals,
  p.police_care_individuals_symbol,
  d.year as dfe_year,
  cast(d.dfe_missing_incidents as integer) as dfe_missing_incidents,
  d.las_with_figure as dfe_las_with_figure,
  d.las_without_figure as dfe_las_without_figure,
  (select group_concat(a.la_name, ', ') from police_force_areas a
    where a.police_force = p.police_force) as force_area_las,
  case when d.dfe_missing_incidents > 0 and p.police_care_incidents is not null
    then round(p.police_care_incidents / d.dfe_missing_incidents, 2) end as police_to_dfe_ratio,
  'NCA: incidents recorded by the police force in its area, for children recorded as in care, whichever council looks after them; x = the force did not supply the figure.' as police_caveat,
  'DfE: incidents recorded by the councils in this force area for the children they are responsible for, wherever those children live (many are placed in other areas); councils with a suppressed or missing figure are left out of the sum.' as dfe_caveat,
  p.police_source_id
from police p
left join dfe d on d.police_force = p.police_force and d.year = p.year_ending
order by p.year desc, p.police_force
