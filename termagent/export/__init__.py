"""Recorded runs as datasets: ATIF documents, SFT conversations and tb2-lite replay records.

`reader` turns trajectory files (and batch or `eval live` output folders) into typed runs;
`turns` rebuilds, request by request, the conversation the model was sent; one module per
output format writes from those two. Nothing here imports Harbor: ATIF is written from its RFC.
"""
