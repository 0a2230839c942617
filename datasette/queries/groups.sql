with snap as (
  select * from home_snapshots
  where as_at = (select as_at from list_dates
                 where list_date(:as_at) between as_at and in_force_until)
),
totals as (select count(*) as homes, sum(places) as places from snap),
member as (
  select s.*, g.group_id from snap s join owner_groups g on g.owner = s.owner
)
select
  gr.id as group_id,
  gr.name as group_name,
  count(distinct m.owner) as owners,
  count(*) as homes,
  sum(m.places) as places,
  round(100.0 * count(*) / (select homes from totals), 2) as share_of_homes,
  round(100.0 * sum(m.places) / (select places from totals), 2) as share_of_places,
  sum(m.latest_judgement in (select judgement from judgement_scale where grade = 'outstanding')) as outstanding,
  sum(m.latest_judgement in (select judgement from judgement_scale where grade = 'good')) as good,
  sum(m.latest_judgement in (select judgement from judgement_scale where grade = 'requires_improvement')) as requires_improvement,
  sum(m.latest_judgement in (select judgement from judgement_scale where grade = 'inadequate')) as inadequate,
  sum(m.latest_judgement is null) as not_yet_judged,
  (select group_concat(distinct r.claim_source) from owner_group_rules r
    where r.group_id = gr.id) as claim_sources,
  (select max(so.is_sample) from owner_group_rules r
    join sources so on so.sha256 = r.source_id where r.group_id = gr.id) as mapping_is_sample,
  (select max(as_at) from snap) as snapshot_as_at
from member m
join groups gr on gr.id = m.group_id
group by gr.id
order by homes desc, group_name
