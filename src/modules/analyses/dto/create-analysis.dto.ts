import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

export class CreateAnalysisDto {
  @IsOptional()
  @IsIn(['high', 'default'], { message: 'priority must be "high" or "default"' })
  priority?: 'high' | 'default';

  @IsOptional()
  @IsInt({ message: 'stations must be a whole number' })
  @Min(1)
  @Max(100)
  stations?: number;
}
