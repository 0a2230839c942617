-- newest first, one full inspection at a time in the order an index
-- keeps them, each with the home's previous full inspection judged on the
-- scale (judgement_scale): no pass over every inspection before the first row
select i.urn, j.inspection_date as previous_date,
  j.judgement as previous_judgement, i.inspection_date, i.judgement,
  sj.score - si.score as steps_down,
  h.local_authority, h.la_code, o.name as owner, h.owner as owner_id
from inspections i
join inspections j on j.urn = i.urn and j.event_type = 'Full inspection'
  and j.inspection_date = (
    select max(k.inspection_date) from inspections k
    where k.urn = i.urn and k.event_type = 'Full inspection'
      and k.inspection_date < i.inspection_date
      and k.judgement in (select judgement from judgement_scale))
-- each judgement's step on the scale, looked up after the inspections
cross join judgement_scale si cross join judgement_scale sj
join homes h on h.urn = i.urn
left join owners o on o.id = h.owner
where i.event_type = 'Full inspection'
  and si.judgement = i.judgement and sj.judgement = j.judgement
  and i.inspection_date >= coalesce(nullif(:from_date, ''), '0000-01-01')
  and i.inspection_date <= coalesce(nullif(:to_date, ''), '9999-12-31')
  and si.score < sj.score
order by i.inspection_date desc, i.urn
