export { InvalidCardError } from '../../rules/errors.js'
