"""Schemathesis hooks for Roundtable's API (loaded through SCHEMATHESIS_HOOKS by .ci/fuzz-api).

The Excel import takes the workbook itself as the request body: generated bodies are sent as
raw bytes, so the fuzzer reaches the server's own checks of a file that is no workbook.
"""

import schemathesis

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@schemathesis.serializer(XLSX)
def xlsx_body(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode("utf-8")
