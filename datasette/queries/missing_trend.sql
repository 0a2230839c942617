select
  year,
  geographic_level,
  coalesce(region_name, 'England') as area,
  cast(max(case when measure = 'missing_incidents' then value end) as integer) as missing_incidents,
  cast(max(case when measure = 'away_incidents' then value end) as integer) as away_incidents,
  cast(max(case when measure = 'children_missing' then value end) as integer) as children_missing,
  max(release) as release
from la_missing_stats_latest
where geographic_level in ('National', 'Regional')
  and year >= cast(coalesce(nullif(:from_year, ''), '0') as integer)
group by year, geographic_level, area_code
order by geographic_level = 'Regional', area, year
