// The JupyterLab extension's entry point (package.json "main": lib/index.js).
import plugin from './panel/plugin';

export default plugin;

export { CommandIDs, trainIcon } from './panel/plugin';
