import { CoreSchema1763900000000 } from './1763900000000-core-schema';

/** Every migration, in order; run on start. */
export const MIGRATIONS = [CoreSchema1763900000000];
