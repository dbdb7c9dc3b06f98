// One kit for the simulators (GitHub, PagerDuty): the HTTP shell, the route table, injected
// faults, rate-limit windows, seeded random numbers and the zip writer.
export { countRoutes, credential, etagMatches, startSimServer, weakEtag, type SimRequestBase, type SimServer } from './http.js';
export { pathSegments, routeTable, type Route, type RouteMatch } from './routes.js';
export { createFaults, type Faults } from './faults.js';
export { createRateWindow, type RateWindow } from './rate-window.js';
export { createRandom, hashString, mulberry32, type Random } from './random.js';
export { crc32, zipFiles } from './zip.js';
export { DAY, HOUR, MIN, SEC } from './time.js';
