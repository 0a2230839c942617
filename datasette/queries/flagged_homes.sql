-- evidence_counts and flagged are parts registry/publish/queries.py composes
-- another query from: keep their names.
with evidence_counts as not materialized (
  -- per-home counts matched to a home: the registry's own
  select urn, source_id, kind, period_start, period_end, source_name, licence,
    incidents_count, incidents_shown, 'public registry' as evidence_from
  from incident_counts
  where match_status = 'matched' and urn is not null
),
params as (
  select
    cast(coalesce(nullif(:min_incidents, ''), '5') as integer) as min_incidents,
    cast(coalesce(nullif(:months, ''), '24') as integer) as months
),
-- only a home with evidence can be listed: the latest full inspection
-- with a judgement of each such home (not of every home)
evidence_homes as (
  select c.urn from evidence_counts c
  union
  select r.urn from reports r
  join report_mentions m on m.report = r.sha256 and m.kind in ('missing', 'away')
    and m.is_current = 1
),
latest_full as (
  select i.urn, i.inspection_date, i.judgement,
    date(i.inspection_date, '-' || p.months || ' months') as window_start
  -- CROSS JOIN keeps this order: evidence homes outside, their inspections inside
  from evidence_homes e
  cross join params p
  cross join inspections i
  where i.urn = e.urn and i.event_type = 'Full inspection' and i.judgement is not null
    and i.inspection_date = (
      select max(j.inspection_date) from inspections j
      where j.urn = e.urn and j.event_type = 'Full inspection'
        and j.judgement is not null)
),
imported_by_source as (
  select f.urn, c.source_id, c.kind, sum(c.incidents_count) as incidents,
    max(c.source_name) as source_name, max(c.evidence_from) as evidence_from,
    max(c.licence) as licence,
    min(c.period_start) as period_start, max(c.period_end) as period_end,
    group_concat(c.incidents_shown, ' + ') as shown
  from latest_full f
  join evidence_counts c on c.urn = f.urn
    and c.period_start <= f.inspection_date and c.period_end >= f.window_start
  group by f.urn, c.source_id, c.kind
),
imported as (
  select urn, max(coalesce(incidents, -1)) as incidents, kind, source_name,
    evidence_from, licence, period_start, period_end, shown, count(*) as parts
  from imported_by_source
  group by urn
),
reported as (
  select f.urn, count(*) as sentences,
    -- the one max(): r.url comes from the mention with the largest count
    max(coalesce(m.count, -1)) as largest_raw, r.url as report_url,
    group_concat('p. ' || m.page || ': ' || m.quote, ' | ') as quotes,
    group_concat(distinct r.inspection_date) as report_dates
  from latest_full f
  join reports r on r.urn = f.urn
    and r.inspection_date between f.window_start and f.inspection_date
  join report_mentions m on m.report = r.sha256 and m.kind in ('missing', 'away')
    and m.is_current = 1
  group by f.urn
),
evidence as (
  select f.urn, f.inspection_date, f.judgement, h.places,
    i.incidents as imported_incidents, i.kind as imported_kind,
    i.source_name as imported_source, i.evidence_from as imported_from, i.licence as imported_licence,
    i.period_start as imported_period_start, i.period_end as imported_period_end,
    i.shown as imported_shown, i.parts as imported_parts,
    nullif(r.largest_raw, -1) as largest_count, r.sentences, r.quotes, r.report_url, r.report_dates,
    max(coalesce(i.incidents, -1), coalesce(r.largest_raw, -1)) as incidents
  from latest_full f
  join homes h on h.urn = f.urn
  left join imported i on i.urn = f.urn
  left join reported r on r.urn = f.urn
  where i.urn is not null or r.urn is not null
),
rated as (
  select e.*,
    case when e.incidents >= 0 and e.places > 0
      then round(1.0 * e.incidents / e.places, 2) end as incidents_per_place
  from evidence e
),
ranked as (
  select r.*,
    case when r.incidents_per_place is not null then cast(round(100.0 * cume_dist() over (
      partition by r.incidents_per_place is not null
      order by r.incidents_per_place)) as integer) end as percentile,
    sum(r.incidents_per_place is not null) over () as homes_ranked
  from rated r
),
flagged as (
  select
    k.urn,
    k.judgement as latest_judgement,
    k.inspection_date as latest_full_inspection_date,
    k.places,
    k.incidents,
    k.incidents_per_place,
    k.percentile,
    k.homes_ranked,
    (select count(*) from (
       select c.urn from evidence_counts c
       union
       select m.urn from report_mentions m
       where m.kind in ('missing', 'away') and m.is_current = 1)) as homes_with_evidence,
    nullif(k.imported_incidents, -1) as imported_incidents,
    k.imported_shown,
    k.imported_kind,
    k.imported_source,
    k.imported_from,
    (select max(b.incidents) from imported_by_source b
      where b.urn = k.urn and b.evidence_from = 'private database') as private_incidents,
    k.imported_licence,
    k.imported_period_start,
    k.imported_period_end,
    case
      when k.imported_period_end is null then null
      when k.imported_period_end < k.latest_inspection then
        'ends ' || cast(round((julianday(k.latest_inspection) - julianday(k.imported_period_end)) / 30.44) as integer) || ' months before the inspection'
      else 'covers the inspection date'
    end as imported_period_vs_inspection,
    k.imported_parts as imported_sources_and_kinds,
    k.largest_count as incidents_quoted,
    k.sentences as sentences_quoted,
    k.quotes,
    k.report_dates,
    k.report_url,
    o.name as owner,
    h.owner as owner_id,
    h.local_authority,
    h.la_code,
    (select s.value from la_missing_stats_latest s
      where s.la_code = h.la_code and s.geographic_level = 'Local authority'
        and s.measure in ('pct_children_missing', 'Percentage of children who had a missing incident during the year')
        and s.year <= cast(strftime('%Y', date(k.inspection_date, '+9 months')) as integer)
      order by s.year desc limit 1) as host_la_percent_children_missing,
    (select s.year from la_missing_stats_latest s
      where s.la_code = h.la_code and s.geographic_level = 'Local authority'
        and s.measure in ('pct_children_missing', 'Percentage of children who had a missing incident during the year')
        and s.year <= cast(strftime('%Y', date(k.inspection_date, '+9 months')) as integer)
      order by s.year desc limit 1) as host_la_year
  from (select ranked.*, ranked.inspection_date as latest_inspection from ranked) k
  join homes h on h.urn = k.urn
  left join owners o on o.id = h.owner
  where k.judgement in (select judgement from judgement_scale where is_good_or_better = 1)
    and k.incidents >= 0
    and k.incidents >= (select min_incidents from params)
)
-- every column of flagged but imported_from and private_incidents
select
  urn, latest_judgement, latest_full_inspection_date, places, incidents,
  incidents_per_place, percentile, homes_ranked, homes_with_evidence,
  imported_incidents, imported_shown, imported_kind, imported_source,
  imported_licence, imported_period_start, imported_period_end,
  imported_period_vs_inspection, imported_sources_and_kinds, incidents_quoted,
  sentences_quoted, quotes, report_dates, report_url, owner, owner_id,
  local_authority, la_code, host_la_percent_children_missing, host_la_year
from flagged
order by incidents desc, urn
