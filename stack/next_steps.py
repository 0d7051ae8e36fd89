"""Printed at the end of `make run`: where the page is and how to try each part of the product by hand."""

import json
import os
from pathlib import Path

outputs = json.loads((Path(__file__).resolve().parent.parent / "build" / "outputs.json").read_text())
api, stack = outputs["api_url"], os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
print(f"""
Ready. The payments page: {outputs["site_url"]}
(that name resolves to 127.0.0.1 through public DNS; offline, map it in /etc/hosts:
 127.0.0.1 {outputs["site_bucket"]}.s3-website.localhost.localstack.cloud)

Try the API by hand:
  head -3 build/seed/bills-due/*.csv      # today's bills, already loaded
  curl {api}/paymentbalance/<InvoiceID>
  curl -X POST {api}/paymentbalance -H 'Idempotency-Key: try-1' \\
    -d '{{"InvoiceID": <id>, "BillersName": "<name>", "BillingAmount": "<balance>", "CardNumber": "4111111111111111",
         "ExpiryDate": "12/30", "EmailId": "me@example.com", "PhnNumber": "+15555550100", "Choices": "both"}}'
  curl {api}/payments/<PaymentId>
  curl {stack}/_aws/ses                    # the emails sent
  curl {stack}/_aws/sns/sms-messages       # the texts sent
""")
