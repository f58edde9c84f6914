// Validates KEDA ScaledObjects (JSON documents on stdin, one array) against
// KEDA's CRD schema, as compiled by the @kubernetes-models/keda package.
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js";

const docs = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const doc of docs) {
  try {
    new ScaledObject(doc).validate();
    console.log(`ok   ScaledObject/${doc.metadata.name}`);
  } catch (e) {
    failed++;
    console.error(`FAIL ScaledObject/${doc.metadata?.name}: ${e.message}`);
  }
}
if (docs.length === 0) {
  console.error("no ScaledObject rendered");
  process.exit(1);
}
process.exit(failed ? 1 : 0);
