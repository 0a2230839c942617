select
  s.file_name, s.kind, s.as_at, s.release, s.loaded_at,
  count(p.id) as problems,
  s.rows_read, s.rows_skipped,
  group_concat(distinct p.message) as messages,
  s.sha256 as source_id
from sources s
join problems p on p.source_id = s.sha256
where coalesce(:file, '') = '' or s.file_name like '%' || :file || '%'
group by s.sha256
order by problems desc, s.file_name
