-- newest first, each full inspection judged lower on the one scale
-- (judgement_scale) than the home's previous judged full inspection: the
-- registry works out each inspection's previous one and the change in steps
-- when it loads (inspections.previous_judgement, judgement_change), and an
-- index keeps the downgrades newest first (only full inspections have a
-- judgement_change)
select i.urn, i.previous_full_inspection_date as previous_date,
  i.previous_judgement, i.inspection_date, i.judgement,
  -i.judgement_change as steps_down,
  h.local_authority, h.la_code, o.name as owner, h.owner as owner_id
from inspections i
join homes h on h.urn = i.urn
left join owners o on o.id = h.owner
where i.judgement_change < 0
  and i.inspection_date >= coalesce(nullif(:from_date, ''), '0000-01-01')
  and i.inspection_date <= coalesce(nullif(:to_date, ''), '9999-12-31')
order by i.inspection_date desc, i.urn
