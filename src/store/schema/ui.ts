// The ui module's tables (see migrations/). Each table is a property: `table_name: TableType`.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface UiTables {}
