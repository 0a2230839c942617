select field, layout, extractor_version, compared, agree, disagree,
  report_empty, not_checked, agree_pct, right_of_compared_pct
from report_accuracy_by_layout
where coalesce(:field, '') = '' or field = :field
order by field, layout, extractor_version
