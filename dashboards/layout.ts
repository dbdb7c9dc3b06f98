// Positions and ids on Grafana's 24-column grid. Every panel gets an explicit gridPos: the
// SDK's DashboardBuilder only places panels left at (0, 0) and does not wrap a panel that would
// overflow the row, so positions are computed here and checked by the tests.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

export const GRID_COLUMNS = 24;
const ROW_HEADER_HEIGHT = 1;

/** Any panel builder (stat, timeseries, ...): what is needed to place one. */
export type PanelBuilderLike = cog.Builder<dashboard.Panel> & {
  id(id: number): unknown;
  gridPos(gridPos: dashboard.GridPos): unknown;
};

export interface SizedPanel {
  panel: PanelBuilderLike;
  w: number;
  h: number;
}

/** A row header and the panels under it, left to right, wrapping onto a new line at 24 columns. */
export interface Section {
  title: string;
  panels: SizedPanel[];
}

/**
 * Adds the sections to the dashboard top to bottom, numbering rows and panels 1, 2, ... in order
 * (ids must be unique within a dashboard; stable numbering keeps the output byte-stable).
 */
export function addSections(board: dashboard.DashboardBuilder, sections: Section[]): dashboard.DashboardBuilder {
  let y = 0;
  let id = 1;
  for (const section of sections) {
    board.withRow(
      new dashboard.RowBuilder(section.title).id(id++).gridPos({ x: 0, y, w: GRID_COLUMNS, h: ROW_HEADER_HEIGHT }),
    );
    y += ROW_HEADER_HEIGHT;
    let x = 0;
    let lineHeight = 0;
    for (const { panel, w, h } of section.panels) {
      if (w < 1 || w > GRID_COLUMNS || h < 1) throw new Error(`panel size ${w}x${h} does not fit a ${GRID_COLUMNS}-column grid`);
      if (x + w > GRID_COLUMNS) {
        x = 0;
        y += lineHeight;
        lineHeight = 0;
      }
      panel.id(id++);
      panel.gridPos({ x, y, w, h });
      board.withPanel(panel);
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  return board;
}
