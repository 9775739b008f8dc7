"""Terminal QR codes (segno), drawn with half blocks: two module rows per text line."""

from __future__ import annotations

HALF_BLOCKS = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}


def terminal_qr(data: str, *, border: int = 2) -> str:
    """The QR code of `data` as text; dark modules are drawn as blocks. The renderer prints
    it black on white where colour is on, so it scans on dark and light terminals alike
    (phone scanners also read the inverted code a colourless dark terminal shows)."""
    import segno

    qr = segno.make(data, error="m", boost_error=False)
    rows = [[bit & 1 for bit in row] for row in qr.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    return "\n".join(
        "".join(HALF_BLOCKS[(t, b)] for t, b in zip(top, bottom, strict=True))
        for top, bottom in zip(rows[0::2], rows[1::2], strict=True)
    )
