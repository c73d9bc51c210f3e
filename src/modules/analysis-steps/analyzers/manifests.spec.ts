import { isManifest, parseManifest, parsePep508 } from './manifests';
import { parseToml, TomlError } from './toml';

const deps = (file: string, text: string) => parseManifest(file, text)?.dependencies;

describe('manifests', () => {
  it('recognises manifests by file name', () => {
    for (const f of [
      'package.json',
      'a/b/package.json',
      'requirements.txt',
      'requirements-dev.txt',
      'dev-requirements.txt',
      'requirements.in',
      'pyproject.toml',
      'Pipfile',
      'go.mod',
      'Cargo.toml',
      'pom.xml',
      'build.gradle',
      'build.gradle.kts',
      'Gemfile',
      'composer.json',
    ])
      expect([f, isManifest(f)]).toEqual([f, true]);
    for (const f of [
      'package-lock.json',
      'requirements.md',
      'myrequirementstxt',
      'go.sum',
      'Cargo.lock',
      'pom.xml.bak',
    ])
      expect([f, isManifest(f)]).toEqual([f, false]);
  });

  it('package.json: dependencies, optional and dev (not peer), first declaration wins', () => {
    const m = parseManifest(
      'web/package.json',
      '\uFEFF' +
        JSON.stringify({
          dependencies: { react: '^18.2.0', local: 'file:../x', odd: 5 },
          optionalDependencies: { fsevents: '~2.3.0' },
          devDependencies: { react: '18.0.0', typescript: '6.0.3' },
          peerDependencies: { vue: '*' },
        }),
    );
    expect(m).toEqual({
      file: 'web/package.json',
      ecosystem: 'npm',
      dependencies: [
        { name: 'react', version: '^18.2.0' },
        { name: 'local', version: 'file:../x' },
        { name: 'odd', version: null },
        { name: 'fsevents', version: '~2.3.0' },
        { name: 'typescript', version: '6.0.3' },
      ],
    });
  });

  it('an unparseable manifest is listed with no dependencies', () => {
    expect(parseManifest('package.json', '{ nope')).toEqual({
      file: 'package.json',
      ecosystem: 'npm',
      dependencies: [],
    });
    expect(parseManifest('Cargo.toml', '[dependencies\nx = "1"')).toEqual({
      file: 'Cargo.toml',
      ecosystem: 'cargo',
      dependencies: [],
    });
  });

  it('composer.json: require and require-dev without platform packages', () => {
    expect(
      deps(
        'composer.json',
        JSON.stringify({
          require: { php: '>=8.1', 'ext-json': '*', 'monolog/monolog': '^3.0' },
          'require-dev': { 'phpunit/phpunit': '^10' },
        }),
      ),
    ).toEqual([
      { name: 'monolog/monolog', version: '^3.0' },
      { name: 'phpunit/phpunit', version: '^10' },
    ]);
  });

  it('requirements.txt: specs, extras, markers, continuations; options, URLs and paths skipped', () => {
    const text = [
      '# a comment',
      'requests[security] >= 2.8.1, == 2.8.*  ; python_version < "2.7"',
      'Django==4.2.1 --hash=sha256:abc',
      'numpy',
      'flask \\',
      '  ~=2.0',
      '-r base.txt',
      '--index-url https://pypi.example/simple',
      '-e git+https://github.com/x/y.git#egg=y',
      'git+https://github.com/x/z.git',
      './local/pkg',
      'pkg @ https://example.com/pkg-1.0.tar.gz',
      'wheel-1.0-py3-none-any.whl',
      'numpy==1.0  # again, now with a version: it fills in the first one',
      '',
    ].join('\n');
    expect(deps('requirements-dev.txt', text)).toEqual([
      { name: 'requests', version: '>= 2.8.1, == 2.8.*' },
      { name: 'Django', version: '==4.2.1' },
      { name: 'numpy', version: '==1.0' },
      { name: 'flask', version: '~=2.0' },
      { name: 'pkg', version: 'https://example.com/pkg-1.0.tar.gz' },
    ]);
  });

  it('PEP 508 requirements', () => {
    expect(parsePep508('name')).toEqual({ name: 'name', version: null });
    expect(parsePep508('name (>=1.0)')).toEqual({ name: 'name', version: '>=1.0' });
    expect(parsePep508('a.b-c_d[x,y]<2; os_name == "nt"')).toEqual({ name: 'a.b-c_d', version: '<2' });
    expect(parsePep508('not a requirement')).toBeUndefined();
  });

  it('pyproject.toml: PEP 621 dependencies, optional ones, dependency groups and Poetry tables', () => {
    const text = `
[build-system]
requires = ["setuptools>=61"]

[project]
name = "demo"
dependencies = [
  "httpx>=0.27",   # trailing comment
  'rich',
]

[project.optional-dependencies]
test = ["pytest==8.0.0"]

[dependency-groups]
lint = ["ruff>=0.4", { include-group = "test" }]

[tool.poetry.dependencies]
python = "^3.11"
fastapi = "^0.110"
pydantic = { version = "^2.6", extras = ["email"] }
mylib = { git = "https://github.com/x/mylib.git" }
multi = [{ version = "<2", python = "<3.12" }, { version = ">=2", python = ">=3.12" }]

[tool.poetry.group.dev.dependencies]
black = "24.2.0"
`;
    expect(deps('pyproject.toml', text)).toEqual([
      { name: 'httpx', version: '>=0.27' },
      { name: 'rich', version: null },
      { name: 'pytest', version: '==8.0.0' },
      { name: 'ruff', version: '>=0.4' },
      { name: 'fastapi', version: '^0.110' },
      { name: 'pydantic', version: '^2.6' },
      { name: 'mylib', version: null },
      { name: 'multi', version: '<2 || >=2' },
      { name: 'black', version: '24.2.0' },
    ]);
  });

  it('Pipfile: packages and dev-packages', () => {
    const text =
      '[[source]]\nurl = "https://pypi.org/simple"\n\n[packages]\nrequests = "*"\ndjango = {version = "==4.2"}\n\n[dev-packages]\npytest = ">=8"\n';
    expect(deps('Pipfile', text)).toEqual([
      { name: 'requests', version: '*' },
      { name: 'django', version: '==4.2' },
      { name: 'pytest', version: '>=8' },
    ]);
  });

  it('go.mod: require lines and blocks', () => {
    const text = `module example.com/m

go 1.22

require github.com/pkg/errors v0.9.1

require (
\tgolang.org/x/sync v0.6.0 // indirect
\t"example.com/quoted" v1.0.0
)

replace example.com/old => example.com/new v1.2.3
`;
    expect(deps('go.mod', text)).toEqual([
      { name: 'github.com/pkg/errors', version: 'v0.9.1' },
      { name: 'golang.org/x/sync', version: 'v0.6.0' },
      { name: 'example.com/quoted', version: 'v1.0.0' },
    ]);
  });

  it('Cargo.toml: all dependency tables, inline and dotted forms', () => {
    const text = `[package]
name = "demo"

[dependencies]
serde = { version = "1.0", features = ["derive"] }
rand = "0.8"
local = { path = "../local" }
shared = { workspace = true }

[dependencies.tokio]
version = "1.36"
features = ["full"]

[dev-dependencies]
criterion = "0.5"

[build-dependencies]
cc = "1"

[target.'cfg(windows)'.dependencies]
winapi = "0.3"

[workspace.dependencies]
anyhow = "1.0.80"
`;
    expect(deps('Cargo.toml', text)).toEqual([
      { name: 'serde', version: '1.0' },
      { name: 'rand', version: '0.8' },
      { name: 'local', version: null },
      { name: 'shared', version: null },
      { name: 'tokio', version: '1.36' },
      { name: 'criterion', version: '0.5' },
      { name: 'cc', version: '1' },
      { name: 'winapi', version: '0.3' },
      { name: 'anyhow', version: '1.0.80' },
    ]);
  });

  it('pom.xml: groupId:artifactId with versions, properties substituted, plugins left out', () => {
    const text = `<?xml version="1.0"?>
<project>
  <parent><groupId>org.springframework.boot</groupId><artifactId>parent</artifactId><version>3.2.0</version></parent>
  <groupId>com.example</groupId>
  <artifactId>demo</artifactId>
  <version>1.4.0</version>
  <properties>
    <guava.version>33.0.0-jre</guava.version>
  </properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.12</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
      <version>\${guava.version}</version>
    </dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>com.example</groupId><artifactId>core</artifactId><version>\${project.version}</version></dependency>
    <!-- <dependency><groupId>x</groupId><artifactId>commented-out</artifactId></dependency> -->
    <dependency><groupId>org.junit</groupId><artifactId>junit</artifactId><version>\${undefined.prop}</version><scope>test</scope></dependency>
  </dependencies>
  <build><plugins><plugin>
    <artifactId>maven-plugin</artifactId>
    <dependencies><dependency><groupId>p</groupId><artifactId>plugin-dep</artifactId></dependency></dependencies>
  </plugin></plugins></build>
</project>`;
    expect(deps('pom.xml', text)).toEqual([
      { name: 'org.slf4j:slf4j-api', version: '2.0.12' },
      { name: 'com.google.guava:guava', version: '33.0.0-jre' },
      { name: 'com.example:core', version: '1.4.0' },
      { name: 'org.junit:junit', version: '${undefined.prop}' },
    ]);
  });

  it('build.gradle: string coordinates and the map form', () => {
    const text = `dependencies {
    implementation 'org.apache.commons:commons-lang3:3.14.0'
    testImplementation("org.junit.jupiter:junit-jupiter:5.10.2")
    implementation platform('org.springframework.boot:spring-boot-dependencies:3.2.0')
    runtimeOnly group: 'com.h2database', name: 'h2', version: '2.2.224'
    api "com.google.guava:guava" // version from the platform
    // implementation 'commented:out:1.0'
}`;
    expect(deps('build.gradle', text)).toEqual([
      { name: 'org.apache.commons:commons-lang3', version: '3.14.0' },
      { name: 'org.junit.jupiter:junit-jupiter', version: '5.10.2' },
      { name: 'org.springframework.boot:spring-boot-dependencies', version: '3.2.0' },
      { name: 'com.google.guava:guava', version: null },
      { name: 'com.h2database:h2', version: '2.2.224' },
    ]);
  });

  it('Gemfile: gem lines with their constraints', () => {
    const text = `source "https://rubygems.org"\ngem "rails", "~> 7.1", ">= 7.1.3"\ngem 'pg'\ngem "puma", require: false # web\n# gem "old"\n`;
    expect(deps('Gemfile', text)).toEqual([
      { name: 'rails', version: '~> 7.1, >= 7.1.3' },
      { name: 'pg', version: null },
      { name: 'puma', version: null },
    ]);
  });
});

describe('parseToml', () => {
  it('parses the value forms manifests use', () => {
    const t = parseToml(`
# comment
title = "a \\"quoted\\" \\u00e9 string"
literal = 'C:\\path'
multi = """
one \\
   two"""
lit_multi = '''
raw \\n'''
num = 1_000
float = 3.5
bool = true
date = 1979-05-27
arr = [1, [2, 3], "x",]
inline = { a.b = 1, "quoted key" = 'v' }
"__proto__" = "data"
[a.b]
c = 1
[[arr_t]]
x = 1
[[arr_t]]
x = 2
[arr_t.sub]
y = 3
`);
    expect(JSON.parse(JSON.stringify(t))).toEqual({
      title: 'a "quoted" é string',
      literal: 'C:\\path',
      multi: 'one two',
      lit_multi: 'raw \\n',
      num: 1000,
      float: 3.5,
      bool: true,
      date: '1979-05-27',
      arr: [1, [2, 3], 'x'],
      inline: { a: { b: 1 }, 'quoted key': 'v' },
      ['__proto__']: 'data',
      a: { b: { c: 1 } },
      arr_t: [{ x: 1 }, { x: 2, sub: { y: 3 } }],
    });
    expect(Object.getPrototypeOf(t)).toBeNull();
  });

  it('rejects what it cannot parse, with a line number', () => {
    expect(() => parseToml('a = "unterminated\nb = 1')).toThrow(TomlError);
    expect(() => parseToml('x = 1\ny = [1, 2')).toThrow(/line 2/);
    expect(() => parseToml('a = 1 b = 2')).toThrow(/end of the line/);
  });
});
