select * from (
  select urn, as_at as date, 'Listed by Ofsted' as event,
    latest_judgement as judgement, sector, places,
    owner_as_published as owner, local_authority,
    registration_status as detail, source_id
  from home_snapshots where urn = upper(trim(:urn))
  union all
  select urn, inspection_date, event_type, judgement, null, null, null, null,
    case when publication_date is not null then 'published ' || publication_date end,
    source_id
  from inspections where urn = upper(trim(:urn))
)
order by date, event
