export type Role = 'admin' | 'producer' | 'viewer';

/** Who is calling: a key's role and the projects it may see. */
export class Principal {
  constructor(
    readonly keyId: string,
    readonly role: Role,
    readonly projects: readonly string[],
  ) {}

  get allProjects(): boolean {
    return this.role === 'admin' || this.projects.includes('*');
  }

  canRead(projectId: string): boolean {
    return this.allProjects || this.projects.includes(projectId);
  }

  canWrite(projectId: string): boolean {
    return (this.role === 'admin' || this.role === 'producer') && this.canRead(projectId);
  }
}
