{
  "format": "xinan-report-sig/2",
  "file": "报告.html",
  "size": 176,
  "hash": "sha256",
  "digest": "sS9xiZw33fmza9vCRqA/2SlS2d89QKZxWDROzB43ziU=",
  "signed_at": "2026-03-02T09:30:00Z",
  "signer": {
    "id": "platform",
    "key_id": "xk1rh5ke7zhpbmbacwt2j62wkzn",
    "role": "platform",
    "suite": "intl"
  },
  "sig": "J61uy4U3CFJgHPsnUaqvfBRjsURjCeoVaV9+NciZMrz82fzyXTDnVQ6NDqKW6EP/eGknklF7s0dbnfs7i/RKDw=="
}
