/* config.example.js: the format of config.js, the one file the deployment writes next to index.html.
 *
 * index.html loads config.js and then app.js. This example is NOT loaded by the page; it only documents the
 * contract. config.js must define window.PAYPROC_CONFIG; only apiUrl is required:
 *
 *   apiUrl            the API's base URL, with the stage and WITHOUT a trailing slash; the page calls
 *                     {apiUrl}/paymentbalance/{InvoiceID}, {apiUrl}/paymentbalance and {apiUrl}{StatusUrl}
 *                     (StatusUrl as the API returns it, "/payments/<id>").
 *   currencySymbol    optional, shown before amounts (default "$").
 *   pollIntervalMs    optional, how often the page asks for a payment's status (default 1000).
 *   pollTimeoutMs     optional, how long it keeps asking before it tells the customer to check later (default 180000).
 *   requestTimeoutMs  optional, how long one request may take before it counts as a network error (default 30000).
 *
 * The file is plain JavaScript served with Content-Type text/javascript (or application/javascript); the page's
 * Content-Security-Policy allows scripts from its own origin only, so it cannot be inlined into index.html.
 *
 * Example for the local stack (a LocalStack REST API URL):
 */
window.PAYPROC_CONFIG = {
  apiUrl: "http://127.0.0.1:4566/_aws/execute-api/abcdef1234/prod"
};
