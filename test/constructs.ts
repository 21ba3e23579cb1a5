import { Construct } from 'constructs';
import {
  BuildahBuildJob, BuildContext, IImageJob, ImageArchive, ImageJobOptions, KanikoBuildJob, OciConnector, OciConnectorBuildJob, SkopeoPromoteJob,
  TarPushJob, UnifiedImageJob, UnifiedJobMode,
} from '../src';

/** Every construct, made with the given shared options. */
export const CONSTRUCTS: { [name: string]: (scope: Construct, options: ImageJobOptions) => IImageJob } = {
  KanikoBuildJob: (scope, options) => new KanikoBuildJob(scope, 'job', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], ...options,
  }),
  BuildahBuildJob: (scope, options) => new BuildahBuildJob(scope, 'job', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: ['r.io/a:1'], ...options,
  }),
  SkopeoPromoteJob: (scope, options) => new SkopeoPromoteJob(scope, 'job', { source: 'r.io/a:1', destinations: ['h.io/a:1'], ...options }),
  TarPushJob: (scope, options) => new TarPushJob(scope, 'job', {
    archive: ImageArchive.fromUrl('https://a.example.com/i.tar'), destinations: ['h.io/a:1'], ...options,
  }),
  UnifiedImageJob: (scope, options) => new UnifiedImageJob(scope, 'job', {
    mode: UnifiedJobMode.PUSH_TAR, toolsImage: 'r.io/tools:1', archive: ImageArchive.fromUrl('https://a.example.com/i.tar'), destinations: ['h.io/a:1'], ...options,
  }),
  OciConnectorBuildJob: (scope, options) => new OciConnectorBuildJob(scope, 'job', {
    connector: OciConnector.fromName('harbor', { namespace: 'ci' }), context: BuildContext.fromConfigMap('ctx'), destinations: ['h.io/a:1'], ...options,
  }),
};

