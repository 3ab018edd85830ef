// A page that lists one collection of the API (models, datasets, experiments): loaded once,
// sorted in the browser, the sort kept in the URL (`?sort=key` / `-key`).
import type { ComponentChildren } from "preact";
import { get } from "./api";
import { Page, Show, Table, parseSort, sortParam, type Column, type Sort } from "./components";
import { useData } from "./data";
import { setQuery, useLocation } from "./router";

export function ListPage<T>(props: {
  title: string;
  /** The API path (`/models`) and the key of its answer that holds the list (`models`). */
  path: string;
  field: string;
  defaultSort: Sort;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  rowHref: (row: T) => string;
  empty: ComponentChildren;
}) {
  const loc = useLocation();
  const sort = parseSort(loc.query.get("sort"), props.defaultSort);
  const list = useData((s) => get<Record<string, T[]>>(props.path, undefined, s), [props.path]);
  return (
    <Page title={props.title}>
      <Show loaded={list}>
        {(d) => (
          <Table
            label={props.title}
            rows={d[props.field] ?? []}
            rowKey={props.rowKey}
            rowHref={props.rowHref}
            sort={sort}
            onSort={(s) => setQuery({ sort: sortParam(s) }, true)}
            empty={props.empty}
            columns={props.columns}
          />
        )}
      </Show>
    </Page>
  );
}
