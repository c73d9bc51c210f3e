import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('api_keys')
export class ApiKeyOrmEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ type: 'varchar', length: 200 }) name: string;
  @Column({ type: 'varchar', length: 16 }) role: string;
  /** JSON array of project ids, or ["*"]. */
  @Column({ type: 'text' }) projects: string;
  /** sha256 of the secret; the secret itself is never stored. */
  @Column({ name: 'key_hash', type: 'varchar', length: 64, unique: true }) keyHash: string;
  @Column({ name: 'created_at', type: 'bigint' }) createdAt: number;
  @Column({ name: 'revoked_at', type: 'bigint', nullable: true }) revokedAt: number | null;
}
