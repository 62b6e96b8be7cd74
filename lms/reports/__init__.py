"""Reports for leadership: the adoption-success report as a web page and a PDF board paper
(`leadership`, `paper`), its acceptance checklist (`criteria`), written summary (`summary`) and
trends (`trends`), and the background jobs that build large PDFs (`jobs`, `models`)."""
