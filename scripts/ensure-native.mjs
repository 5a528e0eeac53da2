// Builds the native TensorFlow binding unless one already loads (CI: so the backend tests
// also run on native). Exit code 0 either way when a build is present at the end.
import { loadNativeTensorFlow, runNativeCli } from '../packages/backend/dist/index.js';

const found = await loadNativeTensorFlow();
if (found.ok) {
  console.log(`native TensorFlow: ${found.source}`);
  process.exit(0);
}
console.log(`native TensorFlow: ${found.reason}; building it`);
process.exit(await runNativeCli([]));
