export { type FacetStarts, type FacetStartsArgs, facetStarts, kMeans } from './facet-starts.js';
export { type LayerActivationsOptions, layerActivations } from './layer-activations.js';
export { type NeuronConditionArgs, type NeuronObjective, neuronCondition } from './neuron-condition.js';
export { type LayerGeometry, layerGeometry, type Position } from './unit.js';
