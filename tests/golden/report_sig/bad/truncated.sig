{
  "format": "xinan-report-sig/1",
  "file": "报告.html",
  "size": 176,
  "hash": "sha256",
  "digest": "sS9xiZw33fmza9vCRqA/2SlS2d89QKZxWDROzB43ziU=",
  "signed_at": "2026-03-02T09:30:00Z",
  "signer": {
    