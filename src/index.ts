export * from './image-reference';
export * from './registry-credentials';
export * from './build-context';
export * from './tool-images';
export * from './image-job';
export * from './kaniko-build-job';
export * from './skopeo-promote-job';
