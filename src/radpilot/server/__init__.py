"""radpilot.server: the department's service (FastAPI under uvicorn), its users, roles and
audit trail, the DICOM Storage SCP and the radiologist's web page.

The top capability: it may import every capability below it, and only ``commands`` and
``cli`` import it.
"""
