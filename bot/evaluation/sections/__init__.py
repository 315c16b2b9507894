"""One module per evaluated model: each turns an evaluation's JSON into a report ``Section``
(``*_section``, pure) and runs or reuses that evaluation (``build``)."""
