"""Write the evidence table of orchestrator/wire/rules.py into docs/contract.md."""

from __future__ import annotations

from pathlib import Path

from orchestrator.wire.rules import evidence_table

START, END = "<!-- evidence-table:start -->", "<!-- evidence-table:end -->"
CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "contract.md"


def main() -> None:
    text = CONTRACT.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    CONTRACT.write_text(f"{before}{START}\n{evidence_table()}\n{END}{after}")


if __name__ == "__main__":
    main()
