import { LazyDriverFactory } from './typeorm-drivers';

describe('LazyDriverFactory', () => {
  it("hands a type it does not load itself to TypeORM's own factory", () => {
    // TypeORM's factory answers an unknown type with its MissingDriverError, naming the drivers it supports
    expect(() => new LazyDriverFactory().create({ options: { type: 'nope' } } as never)).toThrow(
      /Wrong driver: "nope".*better-sqlite3.*mysql/s,
    );
  });
});
