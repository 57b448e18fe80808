import { getJson, live } from '../api.js';
import { h, replace, section } from '../dom.js';
import uPlot from '../vendor/uPlot.esm.js';

const charts = [
  { key: 'appendRate', title: 'Append rate', unit: 'events/s', color: '#2563eb' },
  { key: 'lagSeconds', title: 'Projection lag (largest)', unit: 's', color: '#d97706' },
  { key: 'lagEvents', title: 'Projection lag (largest)', unit: 'events', color: '#9333ea' },
  { key: 'consistencyRate', title: 'Consistency rate', unit: '0…1', color: '#059669' },
];

/** Small time-series charts of the health samples, extended live by the server-sent `health` events. */
export async function healthPage(view) {
  const { samples } = await getJson('health');
  const boxes = charts.map((chart) => h('div', { class: 'chart', dataset: { chart: chart.key } }));
  replace(view, h('h1', {}, 'Health'), section('Over time (live)', h('div', { class: 'charts' }, boxes)));
  const series = { at: samples.map((s) => s.at / 1000) };
  for (const chart of charts) series[chart.key] = samples.map((s) => s[chart.key]);
  const plots = charts.map(
    (chart, i) =>
      new uPlot(
        {
          title: `${chart.title} (${chart.unit})`,
          width: Math.max(280, boxes[i].clientWidth - 8),
          height: 180,
          legend: { show: false },
          series: [{}, { label: chart.title, stroke: chart.color, width: 2, fill: `${chart.color}1a`, spanGaps: false }],
          axes: [{}, { size: 50 }],
        },
        [series.at, series[chart.key]],
        boxes[i],
      ),
  );
  const unsubscribe = live('health', (sample) => {
    series.at.push(sample.at / 1000);
    for (const chart of charts) series[chart.key].push(sample[chart.key]);
    if (series.at.length > 300) for (const key of Object.keys(series)) series[key].shift();
    for (const [i, plot] of plots.entries()) plot.setData([series.at, series[charts[i].key]]);
  });
  return () => {
    unsubscribe();
    for (const plot of plots) plot.destroy();
  };
}
