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

# what the farm's workflow adds to a new printer and a new spool (API.md, "The farm's workflow")
PRINTER_WORKFLOW = {
    "status": "idle",
    "current_job_id": None,
    "queue_length": 0,
    "maintenance": False,
    "bed_clear": True,
}
FILAMENT_WORKFLOW = {"low_stock_threshold_in_grams": None, "low_stock": False}
