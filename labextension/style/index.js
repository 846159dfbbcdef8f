import 'uplot/dist/uPlot.min.css';
import './ansi.css';
import './base.css';
import './charts.css';
import './sweep.css';
