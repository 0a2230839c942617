select r.urn, r.inspection_date, p.page,
  snippet(report_pages_fts, -1, '[[', ']]', ' … ', 24) as snippet,
  r.url as report_url
from report_pages_fts
join report_pages p on p.rowid = report_pages_fts.rowid
join reports r on r.sha256 = p.report
where report_pages_fts match fts_query(:q)
order by rank
limit 200
