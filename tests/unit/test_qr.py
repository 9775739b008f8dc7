"""`bindscope urls PORT --qr`: the half-block QR code in the terminal text really scans (decoded
with zxing-cpp from an image rebuilt from the characters), and it encodes the best Network URL."""

from __future__ import annotations

import pytest
from unit_helpers import LAPTOP, run_cli

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is in the test extras: pip install -e '.[test]'")
Image = pytest.importorskip("PIL.Image", reason="pillow is in the test extras: pip install -e '.[test]'")

# Each character is two module rows: (top dark?, bottom dark?)
HALF = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
QUIET = 4  # modules of white border the QR spec asks for
SCALE = 6  # pixels per module


def qr_lines(text: str) -> list[str]:
    """The QR block: the lines after 'Scan to open ...:' made only of half-block characters."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Scan to open")) + 1
    block: list[str] = []
    for line in lines[start:]:
        if line and not set(line) <= set(HALF):
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    return block


def modules(block: list[str]) -> list[list[int]]:
    width = max(len(line) for line in block)
    rows: list[list[int]] = []
    for line in block:
        cells = [HALF[c] for c in line.ljust(width)]
        rows.append([top for top, _ in cells])
        rows.append([bottom for _, bottom in cells])
    return rows


def image_of(rows: list[list[int]]):
    size_y, size_x = len(rows), len(rows[0])
    img = Image.new("L", ((size_x + 2 * QUIET) * SCALE, (size_y + 2 * QUIET) * SCALE), 255)
    px = img.load()
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(SCALE):
                    for dx in range(SCALE):
                        px[(x + QUIET) * SCALE + dx, (y + QUIET) * SCALE + dy] = 0
    return img


def decode(text: str) -> list[str]:
    block = qr_lines(text)
    assert block, text
    return [r.text for r in zxingcpp.read_barcodes(image_of(modules(block)))]


def test_qr_in_the_text_decodes_to_the_wifi_url():
    best = run_cli("urls", "8000", "--from", LAPTOP, "--json").json()["best"]
    assert best == "http://192.168.1.23:8000/"  # wlan0 carries the default route
    r = run_cli("urls", "8000", "--qr", "--from", LAPTOP)
    assert r.code == 0, r.err
    assert "\x1b[" not in r.out  # NO_COLOR and a pipe: no escape codes
    assert decode(r.out) == [best]


def test_qr_of_a_long_ipv6_url_decodes():
    best = run_cli("urls", "9000", "--from", LAPTOP, "--json").json()["best"]  # uvicorn on :: (v6-only)
    assert best == "http://[2a02:8109:b6c0:1e00:5d3a:9c41:7e2b:1f06]:9000/"
    r = run_cli("urls", "9000", "--qr", "--from", LAPTOP)
    assert r.code == 0, r.err
    assert decode(r.out) == [best]


def test_qr_in_json_decodes_too():
    data = run_cli("urls", "8080", "--qr", "--json", "--from", LAPTOP).json()
    assert data["best"] == "http://192.168.1.23:8080/"
    assert decode(f"Scan to open {data['best']}:\n{data['qr']}") == [data["best"]]


def test_no_qr_without_a_network_url():
    r = run_cli("urls", "5000", "--qr", "--from", LAPTOP)  # Flask on 127.0.0.1: nothing for a phone
    assert r.code == 1
    assert "Scan to open" not in r.out
    assert not any(c in r.out for c in "▀▄█")


def test_the_decoder_notices_a_damaged_code():
    r = run_cli("urls", "8000", "--qr", "--from", LAPTOP)
    rows = modules(qr_lines(r.out))
    # blank out the middle third of the symbol: more than error correction level M restores
    h, w = len(rows), len(rows[0])
    for y in range(h // 3, 2 * h // 3):
        for x in range(w):
            rows[y][x] = 0
    found = [res.text for res in zxingcpp.read_barcodes(image_of(rows))]
    assert found != ["http://192.168.1.23:8000/"]
