"""The seed README's request bodies: the printer, filament and print job its walk-through creates."""

from __future__ import annotations

PRINTER = {"id": "printer1", "company": "HP", "model": "L12"}
FILAMENT = {
    "id": "f1",
    "type": "PVC",
    "color": "Black",
    "total_weight_in_grams": 100,
    "remaining_weight_in_grams": 100,
}
JOB = {
    "job_id": "job1",
    "printer_id": "printer1",
    "filament_id": "f1",
    "print_weight_in_grams": 50,
    "status": "Queued",
    "details": "mountain",
}
