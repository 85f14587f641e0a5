export { App, type AppProps, type EventSubscribe } from './App.js';
export { startTui, type TuiOptions } from './main.js';
export {
  type Action,
  FILTERS,
  type Filter,
  initialState,
  type Row,
  reducer,
  type State,
  selectedRow,
  visibleRows,
} from './reducer.js';
