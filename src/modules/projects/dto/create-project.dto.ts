import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

export class CreateProjectDto {
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsInt({ each: true, message: 'memberIds must be user ids' })
  @Min(1, { each: true, message: 'memberIds must be user ids' })
  memberIds?: number[];
}
