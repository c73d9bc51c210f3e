export default function globalTeardown(): void {
  // every spec drops its own database; nothing is shared across specs
}
