select c.id as crawl, c.mode, c.started_at, c.outcome,
  m.monitor, m.description, m.count, m.seen,
  round(100.0 * m.share, 1) as percent,
  round(100.0 * m.floor, 1) as floor_percent,
  round(100.0 * m.previous_share, 1) as previous_percent,
  m.verdict, m.message
from crawl_monitors m
join crawls c on c.id = m.crawl_id
where (coalesce(:crawl, '') = '' and c.id in (
         select id from crawls where spider = 'reports'
         order by started_at desc limit 3))
   or c.id = :crawl
order by c.started_at desc, m.page_kind, m.monitor
